//! The demo sandbox: a local HTTPS target that behaves like an Auth.js backend, with fault switches.
