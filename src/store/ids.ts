/** Random identifiers the store generates (crypto-grade: some of them are guessable-if-weak secrets). */
import { randomBytes, randomInt } from 'node:crypto';

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export const newTenantId = (): string => `tn_${randomString(LOWER_ALNUM, 16)}`;
export const newImageId = (): string => `im_${randomString(LOWER_ALNUM, 16)}`;
export const newBuildId = (): string => `bd_${randomString(LOWER_ALNUM, 16)}`;
/** Also the sandbox id and the endpoint's host label: runtime's SANDBOX_ID_PATTERN. */
export const newMicrovmId = (): string => randomString(LOWER_ALNUM, 20);
/** AWS-like: 20 upper-case alphanumerics. */
export const newAccessKeyId = (): string => `CBK${randomString(UPPER_ALNUM, 17)}`;
/** 12 digits, used in ARNs. */
export const newAccountId = (): string => randomString('0123456789', 12);
/** AWS-like: 40 base64 characters (240 random bits). */
export const newSecretAccessKey = (): string => randomBytes(30).toString('base64');
/** The E2B SDK's key format: `e2b_` + 40 lower-case hex (160 random bits). */
export const newE2bApiKey = (): string => `e2b_${randomBytes(20).toString('hex')}`;
export const newE2bKeyId = (): string => `ek_${randomString(LOWER_ALNUM, 16)}`;
