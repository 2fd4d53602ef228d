export {
  createUpstreamClient,
  MAX_MINTS_PER_CALL,
  MAX_RESPONSE_BYTES,
  type UpstreamClient,
  type UpstreamClientOptions,
  type CallOptions,
} from "./client.js";
export {
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamRateLimitedError,
  UpstreamHttpError,
  UpstreamConnectionError,
  UpstreamSchemaError,
} from "./errors.js";
