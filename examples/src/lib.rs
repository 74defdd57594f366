//! Example programs for proc-manager (work in progress).
