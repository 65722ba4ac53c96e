FROM node:20-bookworm-slim
ENV NODE_ENV=production
# a container is reached through its published port, never its loopback
ENV HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package applies patches/ after the install (postinstall): nodemailer's SMTP data stream
COPY patches ./patches
# tsx runs the TypeScript sources directly, so only production dependencies are needed
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY workers ./workers
COPY templates ./templates
COPY config ./config
COPY tsconfig.json ./
USER node
EXPOSE 3000
# node itself is PID 1 so SIGTERM reaches the graceful shutdown directly
# the heap caps keep RSS under ~300 MB per process: without one, V8 on a large host lets garbage
# pile up to gigabytes before collecting (the live heap measured at 100k readers is under 90 MB)
CMD ["node", "--max-old-space-size=320", "--import", "tsx", "src/main.ts", "all"]
