/** Requests of the managed (base) image operations. */
import { z } from 'zod';
import { ImageIdentifier, pageQuery } from './common.js';

export const ListManagedImagesQuery = z.strictObject(pageQuery);
export const ManagedImagePath = z.strictObject({ imageIdentifier: ImageIdentifier });
export const ListManagedVersionsQuery = z.strictObject(pageQuery);
