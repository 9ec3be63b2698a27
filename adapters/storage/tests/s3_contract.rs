//! The storage contract suite, run against `ObjectStorage` on an S3 server
//! inside the test process.

mod contract;
mod objects;

contract::suite!(objects::s3_fixture());
