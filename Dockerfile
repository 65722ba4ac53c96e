# Build stage: the whole toolchain, to compile the TypeScript to dist/
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package applies patches/ after the install (postinstall): nodemailer's SMTP data stream
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY workers ./workers
COPY templates ./templates
RUN npm run build

# Runtime stage: production dependencies and the compiled output only (no tsx, no compiling at boot)
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# a container is reached through its published port, never its loopback
ENV HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund
# dist/ carries its own copy of templates/ and the SQL migrations (scripts/build.mjs)
COPY --from=build /app/dist ./dist
COPY config ./config
USER node
EXPOSE 3000
# node itself is PID 1 so SIGTERM reaches the graceful shutdown directly
# the heap caps keep RSS under ~300 MB per process: without one, V8 on a large host lets garbage
# pile up to gigabytes before collecting (the live heap measured at 100k readers is under 90 MB)
CMD ["node", "--max-old-space-size=320", "dist/src/main.js", "all"]
