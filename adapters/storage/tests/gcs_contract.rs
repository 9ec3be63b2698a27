//! The storage contract suite, run against `ObjectStorage` on the GCS fake
//! inside the test process.

mod contract;
mod objects;

contract::suite!(objects::gcs_fixture());
