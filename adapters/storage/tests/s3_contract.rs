//! The storage contract suite, run against `ObjectStorage` on moto (one
//! server for the whole binary, a bucket per check). s3s-fs cannot serve
//! it: a `<dir>/` key is a directory there, which its listings leave out.

mod contract;
mod objects;

contract::suite!(objects::moto_fixture());
