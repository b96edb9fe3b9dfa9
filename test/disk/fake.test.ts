/** The fake disk (test/support/fakes) honours the disk contract. */
import { runDiskContract } from './contract.js';
import { FakeDisk } from '../support/fakes/fake-disk.js';

runDiskContract('fake', async () => ({ disk: new FakeDisk(), root: '/work', close: async () => undefined }));
