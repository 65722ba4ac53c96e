export {
  type BuildMessageInput,
  buildMessage,
  type PreparedMessage,
  type PrepareEditionInput,
  prepareEditionMessage,
} from './edition-message.js';
export { HeaderError, type MailAddress } from './header-encoding.js';
export { encodeQp, encodeQpLine, MAX_QP_LINE } from './quoted-printable.js';
