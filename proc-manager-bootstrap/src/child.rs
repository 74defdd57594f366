//! The child side of the bootstrap protocol (work in progress).
