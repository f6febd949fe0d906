//! keccak256 of many messages at once: the batch hashing every root is built from.
//!
//! A step's commitment is hundreds of independent keccak256 calls (chunk leaves of 2,049
//! bytes, inner nodes of 65, shape wrappers of 45), and most of them come in groups of
//! equal length. On a CPU with AVX-512, [`hash_many`] runs eight such messages through
//! one keccak-f\[1600\] permutation as the eight 64-bit lanes of 512-bit vectors, which
//! is several times the throughput of hashing them one by one. Elsewhere, and for a
//! message whose length no other message shares, it hashes with `tiny-keccak`. Both give
//! the same digests (keccak256 as Ethereum defines it: the original Keccak padding, rate
//! 136 bytes); the tests below check the lane code against `tiny-keccak` for every
//! length up to three blocks and more.
//!
//! The permutation is written once, generic over the number of lanes, as plain loops
//! over `[u64; L]` that the compiler turns into vector instructions when the function
//! that instantiates it enables AVX-512 (`vprolq` for the rotations, `vpternlogq` for
//! the boolean steps).

use gavel_executor::Hash32;
use tiny_keccak::{Hasher, Keccak};

/// Bytes absorbed per permutation by keccak256 (1600 - 2·256 bits).
const RATE: usize = 136;

/// 64-bit words per block.
const RATE_WORDS: usize = RATE / 8;

/// Messages hashed together by the vector path.
pub(crate) const LANES: usize = 8;

/// The round constants of keccak-f\[1600\] (the iota step), rounds 0 to 23.
const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808A,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808B,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008A,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000A,
    0x0000_0000_8000_808B,
    0x8000_0000_0000_008B,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800A,
    0x8000_0000_8000_000A,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// The rotation of lane `(x, y)` in the rho step, at index `x + 5y`.
const RHO: [u32; 25] = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];

/// The keccak state of `L` independent sponges: word `x + 5y` of sponge `l` is `s[x + 5y][l]`.
type State<const L: usize> = [[u64; L]; 25];

/// keccak-f\[1600\] applied to each of the `L` states.
// Index loops over the lanes are what the vectorizer turns into one vector operation.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn permute<const L: usize>(s: &mut State<L>) {
    for rc in ROUND_CONSTANTS {
        // theta
        let mut c = [[0u64; L]; 5];
        for x in 0..5 {
            for l in 0..L {
                c[x][l] = s[x][l] ^ s[x + 5][l] ^ s[x + 10][l] ^ s[x + 15][l] ^ s[x + 20][l];
            }
        }
        for x in 0..5 {
            for l in 0..L {
                let d = c[(x + 4) % 5][l] ^ c[(x + 1) % 5][l].rotate_left(1);
                for y in 0..5 {
                    s[x + 5 * y][l] ^= d;
                }
            }
        }
        // rho and pi: lane (x, y) moves to (y, 2x + 3y), rotated.
        let mut b = [[0u64; L]; 25];
        for x in 0..5 {
            for y in 0..5 {
                for l in 0..L {
                    b[y + 5 * ((2 * x + 3 * y) % 5)][l] = s[x + 5 * y][l].rotate_left(RHO[x + 5 * y]);
                }
            }
        }
        // chi
        for y in 0..5 {
            for x in 0..5 {
                for l in 0..L {
                    s[x + 5 * y][l] = b[x + 5 * y][l] ^ (!b[(x + 1) % 5 + 5 * y][l] & b[(x + 2) % 5 + 5 * y][l]);
                }
            }
        }
        // iota
        for l in 0..L {
            s[0][l] ^= rc;
        }
    }
}

/// keccak256 of `tag ‖ bodies[l]` for each lane `l`; every body has the same length.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn hash_lanes<const L: usize>(tag: u8, bodies: &[&[u8]; L]) -> [Hash32; L] {
    let len = bodies[0].len() + 1; // the message: the tag, then the body
    assert!(bodies.iter().all(|b| b.len() + 1 == len), "lanes of one length");
    let mut s: State<L> = [[0u64; L]; 25];
    let mut block = [[0u8; RATE]; L];
    let mut at = 0;
    // Whole blocks straight from the bodies: word `w` is the message's bytes
    // `at + 8w ..`, that is the body's from one byte earlier (the tag comes first).
    while len - at >= RATE {
        for w in 0..RATE_WORDS {
            let m = at + 8 * w;
            for l in 0..L {
                let word = if m == 0 {
                    let first: [u8; 8] = bodies[l][..8].try_into().expect("8 bytes");
                    (u64::from_le_bytes(first) << 8) | u64::from(tag)
                } else {
                    let at_m: [u8; 8] = bodies[l][m - 1..m + 7].try_into().expect("8 bytes");
                    u64::from_le_bytes(at_m)
                };
                s[w][l] ^= word;
            }
        }
        permute(&mut s);
        at += RATE;
    }
    // The last block, partial or empty, with the padding: the message's remaining
    // bytes, 0x01, zeros, and 0x80 in the block's last byte.
    let take = len - at;
    for (blk, body) in block.iter_mut().zip(bodies) {
        if at == 0 {
            blk[0] = tag;
            blk[1..take].copy_from_slice(body);
        } else {
            blk[..take].copy_from_slice(&body[at - 1..]);
        }
        blk[take] = 0x01;
        blk[RATE - 1] |= 0x80;
    }
    for w in 0..RATE_WORDS {
        for l in 0..L {
            let word: [u8; 8] = block[l][8 * w..8 * w + 8].try_into().expect("8 bytes");
            s[w][l] ^= u64::from_le_bytes(word);
        }
    }
    permute(&mut s);
    let mut out = [Hash32::default(); L];
    for (l, h) in out.iter_mut().enumerate() {
        for w in 0..4 {
            h.0[8 * w..8 * w + 8].copy_from_slice(&s[w][l].to_le_bytes());
        }
    }
    out
}

/// [`hash_lanes`] for eight messages, compiled for AVX-512.
///
/// # Safety
///
/// The CPU must support `avx512f` and `avx512vl`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn hash8_avx512(tag: u8, bodies: &[&[u8]; LANES]) -> [Hash32; LANES] {
    hash_lanes::<LANES>(tag, bodies)
}

/// Whether this CPU runs the vector path (checked once; the standard library caches it).
#[inline]
pub(crate) fn vectorized() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// keccak256 of `tag ‖ body`, one message (`tiny-keccak`).
#[inline]
pub(crate) fn hash_one(tag: u8, body: &[u8]) -> Hash32 {
    let mut k = Keccak::v256();
    k.update(&[tag]);
    k.update(body);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    Hash32(out)
}

/// Up to [`LANES`] messages of one length: on the vector path if there are at least two
/// (idle lanes repeat the first message and are thrown away), else one by one.
fn hash_group(tag: u8, bodies: &[&[u8]], out: &mut [Hash32]) {
    debug_assert!(bodies.len() <= LANES && bodies.len() == out.len());
    #[cfg(target_arch = "x86_64")]
    if bodies.len() >= 2 && vectorized() {
        let lanes: [&[u8]; LANES] = std::array::from_fn(|l| bodies.get(l).copied().unwrap_or(bodies[0]));
        // SAFETY: `vectorized()` checked that the CPU has AVX-512 F and VL.
        let hashes = unsafe { hash8_avx512(tag, &lanes) };
        out.copy_from_slice(&hashes[..bodies.len()]);
        return;
    }
    for (o, b) in out.iter_mut().zip(bodies) {
        *o = hash_one(tag, b);
    }
}

/// `out[i] = keccak256(tag ‖ bodies[i])` for every `i`. Messages of equal length are
/// hashed [`LANES`] at a time where the CPU allows; the result does not depend on how.
pub(crate) fn hash_many(tag: u8, bodies: &[&[u8]], out: &mut [Hash32]) {
    assert_eq!(bodies.len(), out.len(), "one digest per message");
    let Some(first) = bodies.first() else { return };
    if !vectorized() || bodies.len() == 1 {
        for (o, b) in out.iter_mut().zip(bodies) {
            *o = hash_one(tag, b);
        }
        return;
    }
    if bodies.iter().all(|b| b.len() == first.len()) {
        for (b, o) in bodies.chunks(LANES).zip(out.chunks_mut(LANES)) {
            hash_group(tag, b, o);
        }
        return;
    }
    // Mixed lengths: group the messages by length (the order of the groups does not
    // matter, every digest goes back to its own index).
    let mut order: Vec<usize> = (0..bodies.len()).collect();
    order.sort_by_key(|&i| bodies[i].len());
    let mut group_bodies: Vec<&[u8]> = Vec::with_capacity(LANES);
    let mut group_out = [Hash32::default(); LANES];
    for run in order.chunk_by(|&a, &b| bodies[a].len() == bodies[b].len()) {
        for idx in run.chunks(LANES) {
            group_bodies.clear();
            group_bodies.extend(idx.iter().map(|&i| bodies[i]));
            hash_group(tag, &group_bodies, &mut group_out[..idx.len()]);
            for (&i, h) in idx.iter().zip(&group_out) {
                out[i] = *h;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize, seed: u32) -> Vec<u8> {
        (0..len as u32).map(|i| (i.wrapping_add(seed).wrapping_mul(0x9e37_79b9) >> 19) as u8).collect()
    }

    #[test]
    fn a_tag_alone_hashes_to_the_known_keccak256() {
        // keccak256(0x00), a published value, from both paths: a fixed point that does
        // not depend on tiny-keccak being right.
        let expected: Hash32 = "0xbc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a".parse().unwrap();
        assert_eq!(hash_one(0, &[]), expected);
        assert_eq!(hash_lanes::<1>(0, &[&[]])[0], expected);
    }

    #[test]
    fn lanes_agree_with_tiny_keccak_for_every_length() {
        // Every length up to three blocks and past it, so every position of the padding
        // (0x01 and 0x80 in one byte, a block of padding alone) is covered.
        for len in (0..=3 * RATE + 2).chain([2048, 2048 + 17]) {
            let msgs: Vec<Vec<u8>> = (0..LANES as u32).map(|s| message(len, s)).collect();
            let bodies: [&[u8]; LANES] = std::array::from_fn(|l| msgs[l].as_slice());
            let lanes = hash_lanes::<LANES>(0x5a, &bodies);
            let two = hash_lanes::<2>(0x5a, &[bodies[0], bodies[1]]);
            for l in 0..LANES {
                assert_eq!(lanes[l], hash_one(0x5a, bodies[l]), "len {len}, lane {l}");
            }
            assert_eq!(two, [lanes[0], lanes[1]], "len {len}");
            #[cfg(target_arch = "x86_64")]
            if vectorized() {
                // SAFETY: the CPU has AVX-512 F and VL.
                assert_eq!(unsafe { hash8_avx512(0x5a, &bodies) }, lanes, "len {len}");
            }
        }
    }

    #[test]
    fn hash_many_matches_one_by_one_for_mixed_lengths() {
        let lens = [0, 65, 2048, 65, 2048, 7, 2048, 2048, 2048, 2048, 2048, 2048, 2048, 2048, 1280, 1280, 44, 65];
        let msgs: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| message(n, i as u32)).collect();
        let bodies: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        for n in 0..=bodies.len() {
            let mut out = vec![Hash32::default(); n];
            hash_many(3, &bodies[..n], &mut out);
            let expected: Vec<Hash32> = bodies[..n].iter().map(|b| hash_one(3, b)).collect();
            assert_eq!(out, expected, "first {n} messages");
        }
        // All of one length, more than one group.
        let same: Vec<&[u8]> = bodies.iter().copied().filter(|b| b.len() == 2048).collect();
        let mut out = vec![Hash32::default(); same.len()];
        hash_many(0, &same, &mut out);
        assert_eq!(out, same.iter().map(|b| hash_one(0, b)).collect::<Vec<_>>());
    }
}
