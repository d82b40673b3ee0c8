// What the agent reads of the log files runners write: the last N lines
// (`fleet logs --lines N`) and new lines as they come (`--follow`, shipping),
// both across rotated generations.
export { readLastLines } from './last-lines';
export { followFile, type FilePosition, type FollowHandle, type FollowOptions } from './log-follower';
