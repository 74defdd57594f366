//! The ready-made bootstrap child (work in progress).

fn main() {}
