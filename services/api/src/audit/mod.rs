//! The admin audit log, shared by every context whose admin decisions are audited (agent reviews,
//! wallet adjustments): written in the decision's own transaction, read by `GET /api/admin/audit`.

pub mod repo;

pub use repo::{AuditEntry, AuditRow, insert_audit, list_audit};
