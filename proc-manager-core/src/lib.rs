#![doc = include_str!("../README.md")]

mod addr;
pub mod bulk_terminate;
pub mod cell;
mod cell_handle;
mod context;
mod error;
mod handle;
mod id;
mod log;
mod log_batch;
mod log_sink;
mod manager;
mod outcome;
mod proc_log;
mod retention;
mod shutdown;
mod signal_name;
mod sink;
mod status;
mod tail;

pub use addr::{AddrError, ChannelAddr, ChannelTransport};
pub use cell::StatusCell;
pub use cell_handle::{CellHandle, CellRef};
pub use context::{ContextError, ProcContext};
pub use error::{ReadyError, SpawnError, TerminateError, WaitError};
pub use handle::{ProcHandle, ProcHandleExt};
pub use id::{MAX_PROC_NAME_LEN, ProcId, ProcIdError};
pub use log::{LogLine, LogStream};
pub use log_batch::{Lines as LogBatchLines, LogBatch};
pub use log_sink::LogSink;
pub use manager::{BulkTerminate, ProcManager, TerminateSummary};
pub use outcome::{BoxError, WorkerOutcome};
pub use proc_log::{ProcLog, ProcLogTarget};
pub use retention::Retention;
pub use shutdown::ShutdownReason;
pub use sink::{ChannelSink, FileSink, TeeSink, TracingSink};
pub use status::{IllegalTransition, ProcStatus};
pub use tail::TailBuffer;

pub use async_trait::async_trait;
pub use bytes::Bytes;

#[cfg(test)]
mod assertions {
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_sync() {
        assert_send_sync::<super::StatusCell>();
        assert_send_sync::<super::ProcId>();
        assert_send_sync::<super::ProcStatus>();
        assert_send_sync::<super::LogLine>();
        assert_send_sync::<super::SpawnError>();
        assert_send_sync::<super::TerminateError>();
    }
}
