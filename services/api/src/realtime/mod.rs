//! Realtime infrastructure shared by the contexts' sockets: the replica's hub on one Redis
//! pub/sub connection, the channel names, presence keys, the frame pump and close frames. The
//! sockets themselves belong to their contexts (`agents::socket` for `/ws/agent`,
//! `sessions::socket` for `/ws/session`).

pub mod channels;
pub mod close;
pub mod hub;
pub mod presence;
pub mod pump;
