//! A scripted bootstrap child (work in progress).

fn main() {}
