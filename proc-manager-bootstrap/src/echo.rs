//! A small echo service used as the ready-made bootstrap child (work in progress).
