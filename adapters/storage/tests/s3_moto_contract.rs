//! The storage contract suite, run against `ObjectStorage` on moto, a
//! second S3 implementation (one server for the whole binary, a bucket per
//! check).

mod contract;
mod objects;

contract::suite!(objects::moto_fixture());
