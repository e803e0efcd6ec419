//! A small deterministic generator (SplitMix64). The seed comes from outside the interpreter;
//! its state lives in the execution, so a replay draws the same numbers.

use std::cell::Cell;

/// Draws the next 64 random bits and advances the state.
pub fn next_u64(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A float in [0, 1).
pub fn next_f64(state: &Cell<u64>) -> f64 {
    (next_u64(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// A random (version 4) UUID in its canonical text form.
pub fn uuid_v4(state: &Cell<u64>) -> String {
    let hi = next_u64(state);
    let lo = next_u64(state);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers() {
        let a = Cell::new(7);
        let b = Cell::new(7);
        assert_eq!(next_u64(&a), next_u64(&b));
        let u = uuid_v4(&a);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
