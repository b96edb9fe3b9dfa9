/**
 * The API client of the CLI and the validator: the official Lambda MicroVMs client, signed with
 * the caller's access key from the standard AWS variables or profile (AWS_ACCESS_KEY_ID/
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE), region AWS_REGION (default local), endpoint
 * AWS_ENDPOINT_URL (default the local daemon).
 */
import { LambdaMicrovmsClient } from '@aws-sdk/client-lambda-microvms';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8470';

export function apiClient(opts: { endpoint?: string; region?: string } = {}): LambdaMicrovmsClient {
  // The SDK warns (a 9-line stderr block) on every run under Node 20 about its own future
  // support; the CLI's stderr is for its own messages. Set to anything else to see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new LambdaMicrovmsClient({
    endpoint: opts.endpoint ?? process.env.AWS_ENDPOINT_URL_LAMBDA_MICROVMS ?? process.env.AWS_ENDPOINT_URL ?? DEFAULT_ENDPOINT,
    region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'local',
    maxAttempts: 2,
  });
}
