//! The storage contract suite, run against `ObjectStorage` on an S3 server
//! inside the test process.

mod contract;
mod s3;

contract::suite!(s3::s3_fixture());
