//! The paging parameters of listing endpoints, as SFTPGo's OpenAPI document
//! defines them: `offset` >= 0 (default 0), `limit` 1-500 (default 100,
//! larger values clamped to 500), `order` `ASC` or `DESC` (default `ASC`).

use crate::call::Call;
use crate::error::ApiError;
use ferry_ports::{Page, SortOrder};
use std::num::IntErrorKind;

/// `limit` when the query has none.
pub(crate) const DEFAULT_LIMIT: u64 = 100;
/// The largest `limit`; larger values are clamped to it.
pub(crate) const MAX_LIMIT: u64 = 500;

/// The page a listing request asks for; 400 for a value out of range.
pub(crate) fn page_from_query(call: &Call) -> Result<Page, ApiError> {
    Ok(Page {
        offset: call.query("offset").map_or(Ok(0), parse_offset)?,
        limit: call.query("limit").map_or(Ok(DEFAULT_LIMIT), parse_limit)?,
        order: call
            .query("order")
            .map_or(Ok(SortOrder::Asc), parse_order)?,
    })
}

fn parse_offset(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        ApiError::bad_request(format!(
            "invalid offset {raw:?}: it must be an integer >= 0"
        ))
    })
}

fn parse_limit(raw: &str) -> Result<u64, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "invalid limit {raw:?}: it must be an integer from 1 to {MAX_LIMIT}"
        ))
    };
    match raw.parse::<u64>() {
        Ok(0) => Err(invalid()),
        Ok(limit) => Ok(limit.min(MAX_LIMIT)),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => Ok(MAX_LIMIT),
        Err(_) => Err(invalid()),
    }
}

fn parse_order(raw: &str) -> Result<SortOrder, ApiError> {
    match raw {
        "ASC" => Ok(SortOrder::Asc),
        "DESC" => Ok(SortOrder::Desc),
        _ => Err(ApiError::bad_request(format!(
            "invalid order {raw:?}: it must be ASC or DESC"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit("1").ok(), Some(1));
        assert_eq!(parse_limit("500").ok(), Some(500));
        assert_eq!(parse_limit("501").ok(), Some(500));
        assert_eq!(parse_limit("99999999999999999999999").ok(), Some(500));
        for bad in ["0", "-1", "", "ten", "1.5", "+"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_and_orders() {
        assert_eq!(parse_offset("0").ok(), Some(0));
        assert!(parse_offset("-1").is_err());
        assert!(parse_offset("x").is_err());
        assert_eq!(parse_order("DESC").ok(), Some(SortOrder::Desc));
        assert!(parse_order("desc").is_err());
    }
}
