//! The console: app state, the event loop and the components (list, detail, sign-off dialog, help).
