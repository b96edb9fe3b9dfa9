import { FakeTokens } from '../support/fakes/fake-tokens.js';
import { runTokensContract } from './contract.js';

runTokensContract('fake', async () => new FakeTokens());
