/** Host ids a container of `userns: auto` has: container id 0 is host uid `uid` and gid `gid`, up to `size` ids. */
export interface IdRange {
  uid: number;
  gid: number;
  size: number;
}
