// Kernels run on a 2D grid of workgroups (one dimension alone is capped at 65535);
// this is the workgroup's position in row-major order.
fn flat_group(wg: vec3<u32>, nwg: vec3<u32>) -> u32 { return wg.y * nwg.x + wg.x; }
