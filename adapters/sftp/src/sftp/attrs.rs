//! File attributes (draft-ietf-secsh-filexfer-02, section 5) and the
//! `ls -l`-style long names of SSH_FXP_NAME replies (section 7).

use super::wire::{Decoder, Malformed};
use bytes::{BufMut, BytesMut};
use ferry_ports::{FileKind, Metadata, SetAttributes};
use russh_sftp::protocol::{FileAttr, FileAttributes, FileMode};
use std::fmt::Write as _;

const PERMISSION_BITS: u32 = 0o7777;

/// Reads an ATTRS structure, skipping any extended attribute pairs.
pub fn decode(dec: &mut Decoder) -> Result<FileAttributes, Malformed> {
    let flags = FileAttr::from_bits_retain(dec.u32()?);
    let mut attrs = FileAttributes::empty();
    if flags.contains(FileAttr::SIZE) {
        attrs.size = Some(dec.u64()?);
    }
    if flags.contains(FileAttr::UIDGID) {
        attrs.uid = Some(dec.u32()?);
        attrs.gid = Some(dec.u32()?);
    }
    if flags.contains(FileAttr::PERMISSIONS) {
        attrs.permissions = Some(dec.u32()?);
    }
    if flags.contains(FileAttr::ACMODTIME) {
        attrs.atime = Some(dec.u32()?);
        attrs.mtime = Some(dec.u32()?);
    }
    if flags.contains(FileAttr::EXTENDED) {
        let count = dec.u32()?;
        for _ in 0..count {
            dec.bytes()?;
            dec.bytes()?;
        }
    }
    Ok(attrs)
}

/// What SETSTAT and FSETSTAT ask to change. Times come as a pair in SFTP v3.
pub fn to_set_attributes(attrs: &FileAttributes) -> SetAttributes {
    let (uid, gid) = match (attrs.uid, attrs.gid) {
        (Some(uid), Some(gid)) => (Some(uid), Some(gid)),
        _ => (None, None),
    };
    SetAttributes {
        size: attrs.size,
        uid,
        gid,
        permissions: attrs.permissions.map(|mode| mode & PERMISSION_BITS),
        times: match (attrs.atime, attrs.mtime) {
            (Some(atime), Some(mtime)) => Some((u64::from(atime), u64::from(mtime))),
            _ => None,
        },
    }
}

/// The permission bits a client asked for when creating a file or directory.
pub fn create_permissions(attrs: &FileAttributes) -> Option<u32> {
    attrs.permissions.map(|mode| mode & PERMISSION_BITS)
}

/// The mode SFTP reports: file type bits plus permission bits.
pub fn mode(meta: &Metadata) -> u32 {
    let kind = match meta.kind {
        FileKind::File => FileMode::REG.bits(),
        FileKind::Dir => FileMode::DIR.bits(),
        FileKind::Symlink => FileMode::LNK.bits(),
        FileKind::Other => 0,
    };
    kind | (meta.permissions & PERMISSION_BITS)
}

/// Appends a full ATTRS structure for `meta`.
pub fn encode(buf: &mut BytesMut, meta: &Metadata) {
    let flags = FileAttr::SIZE | FileAttr::UIDGID | FileAttr::PERMISSIONS | FileAttr::ACMODTIME;
    buf.put_u32(flags.bits());
    buf.put_u64(meta.size);
    buf.put_u32(meta.uid);
    buf.put_u32(meta.gid);
    buf.put_u32(mode(meta));
    buf.put_u32(clamp_time(meta.atime));
    buf.put_u32(clamp_time(meta.mtime));
}

/// Appends an ATTRS structure with no attributes (REALPATH, READLINK).
pub fn encode_empty(buf: &mut BytesMut) {
    buf.put_u32(0);
}

// LIMITATION: SFTP v3 carries times as uint32 seconds, so times after
// 2106-02-07 are reported as that date.
fn clamp_time(seconds: u64) -> u32 {
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// An `ls -l` line like OpenSSH's: mode, links, owner, group, size, date and
/// name. Owners are shown as numbers: Ferry's users have no system accounts.
pub fn long_name(name: &str, meta: &Metadata, now: u64) -> String {
    let mut line = String::with_capacity(64 + name.len());
    push_mode_string(&mut line, mode(meta));
    let _ = write!(
        line,
        " {:>3} {:<8} {:<8} {:>8} ",
        1, meta.uid, meta.gid, meta.size
    );
    push_date(&mut line, meta.mtime, now);
    line.push(' ');
    line.push_str(name);
    line
}

fn push_mode_string(out: &mut String, mode: u32) {
    out.push(match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o100000 => '-',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '?',
    });
    let specials = [(0o4000, 's'), (0o2000, 's'), (0o1000, 't')];
    for (class, (special, letter)) in specials.into_iter().enumerate() {
        let shift = 6 - 3 * class as u32;
        let bits = (mode >> shift) & 0o7;
        out.push(if bits & 0o4 != 0 { 'r' } else { '-' });
        out.push(if bits & 0o2 != 0 { 'w' } else { '-' });
        let exec = bits & 0o1 != 0;
        out.push(match (mode & special != 0, exec) {
            (true, true) => letter,
            (true, false) => letter.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
}

/// `Mon dd HH:MM` within six months of now, `Mon dd  YYYY` otherwise (UTC).
fn push_date(out: &mut String, seconds: u64, now: u64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const SIX_MONTHS: u64 = 182 * 24 * 3600;
    let (year, month, day) = civil_date(seconds / 86_400);
    let month = MONTHS
        .get(month.saturating_sub(1) as usize)
        .unwrap_or(&"Jan");
    if seconds + SIX_MONTHS > now && seconds <= now + SIX_MONTHS {
        let minutes = seconds % 86_400 / 60;
        let _ = write!(
            out,
            "{month} {day:>2} {:02}:{:02}",
            minutes / 60,
            minutes % 60
        );
    } else {
        let _ = write!(out, "{month} {day:>2}  {year}");
    }
}

/// Year, month (1-12) and day (1-31) of a count of days since 1970-01-01,
/// in the proleptic Gregorian calendar (eras of 400 years).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(kind: FileKind, permissions: u32, mtime: u64) -> Metadata {
        Metadata {
            kind,
            size: 1234,
            permissions,
            uid: 1000,
            gid: 100,
            atime: mtime,
            mtime,
        }
    }

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(19_723), (2024, 1, 1));
        assert_eq!(civil_date(20_088), (2024, 12, 31));
    }

    #[test]
    fn long_names_look_like_ls() {
        let now = 1_704_067_200; // 2024-01-01 00:00
        let recent = meta(FileKind::File, 0o644, now - 3600);
        assert_eq!(
            long_name("a.txt", &recent, now),
            "-rw-r--r--   1 1000     100          1234 Dec 31 23:00 a.txt"
        );
        let old = meta(FileKind::Dir, 0o1755, 0);
        assert_eq!(
            long_name("d", &old, now),
            "drwxr-xr-t   1 1000     100          1234 Jan  1  1970 d"
        );
        let link = meta(FileKind::Symlink, 0o4777, now);
        assert!(long_name("l", &link, now).starts_with("lrwsrwxrwx"));
    }

    #[test]
    fn setstat_needs_both_ids_and_both_times() {
        let attrs = FileAttributes {
            uid: Some(1),
            atime: Some(5),
            permissions: Some(0o100644),
            ..FileAttributes::empty()
        };
        let set = to_set_attributes(&attrs);
        assert_eq!(set.uid, None);
        assert_eq!(set.times, None);
        assert_eq!(set.permissions, Some(0o644));
    }
}
