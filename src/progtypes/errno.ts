// errno values the program-type helpers return beyond the maps' set.
export { EINVAL, EFAULT, E2BIG, ENOENT } from '../maps/errno.js';
export const EACCES = 13;
export const ENOTSUPP = 524;
