//! Test support for proc-manager backends (work in progress).
