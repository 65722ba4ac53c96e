export { renderEdition } from './edition-renderer.js';
export { getCompileCount, MjmlCompileError } from './mjml-compiler.js';
export {
  type GreetingPair,
  greetingFor,
  linkToken,
  PERSONAL_TOKEN_PATTERN,
  PERSONAL_TOKENS,
  type PersonalTokenName,
  type PersonalValues,
  personalize,
  tokenValue,
} from './personalization.js';
export * from './render-types.js';
export { TemplateError } from './template-engine.js';
export { type TemplateName, templateSchemas } from './template-registry.js';
export { renderTransactional } from './transactional-renderer.js';
