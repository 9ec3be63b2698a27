//! Row shapes of the tables created by `ferry-migrations`. They mirror the
//! schema, not the domain: JSON documents are plain strings here and become
//! domain types only through the validating decoders in `codec`.

pub mod admins;
pub mod folders;
pub mod users;
pub mod users_folders;
