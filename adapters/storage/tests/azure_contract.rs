//! The storage contract suite, run against `ObjectStorage` on Azurite (one
//! emulator for the whole binary, a container per check).

mod contract;
mod objects;

contract::suite!(objects::azure_fixture());
