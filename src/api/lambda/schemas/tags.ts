/** Requests of the tagging operations (paths under /2017-03-31/tags, shared with Lambda). */
import { z } from 'zod';
import { MAX_TAGS, TagKey, Tags } from './common.js';

export const ResourcePath = z.strictObject({ Resource: z.string().min(1).max(10_000) });

export const TagResourceBody = z.strictObject({ Tags: Tags });

/** `tagKeys` repeats in the query (`?tagKeys=a&tagKeys=b`); one key arrives as a string. */
export const UntagResourceQuery = z.strictObject({
  tagKeys: z.union([TagKey, z.array(TagKey).min(1).max(MAX_TAGS)]).transform((k) => (Array.isArray(k) ? k : [k])),
});
