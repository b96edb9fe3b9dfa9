/** Request inputs the tests share. */
import type { CreateMicrovmImageCommandInput } from '@aws-sdk/client-lambda-microvms';
import { MANAGED_PYTHON_ARN } from './harness.js';

export function imageInput(name: string, extra: Partial<CreateMicrovmImageCommandInput> = {}): CreateMicrovmImageCommandInput {
  return {
    name,
    baseImageArn: MANAGED_PYTHON_ARN,
    buildRoleArn: 'arn:aws:iam::111111111111:role/cubby-build',
    codeArtifact: { uri: 'file:///srv/artifacts/app.zip' },
    ...extra,
  };
}
