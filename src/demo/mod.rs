//! The demo sandbox: a local HTTPS target that behaves like an Auth.js backend, with fault
//! switches, and the certificates and server it is built from (tests use them too); and the
//! demo's scratch database on a local PostgreSQL.

pub mod database;
pub mod pki;
pub mod repository;
pub mod sandbox;
pub mod server;
pub mod sessions;
