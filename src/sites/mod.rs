//! Sites: which office a session was in, from its IP addresses and an admin's sites file.
//!
//! One job: turn the internal IP (内网IP) and public IP (公网IP) of a participant session into a
//! bounded `site` label value, and never expose an address doing so (DESIGN.md 8.3).
//!
//! A leaf module: it uses nothing else of the crate.
//!
//! # The sites file
//!
//! A CSV file with a header row naming the columns `network` (a CIDR, IPv4 or IPv6) and `site`,
//! and optionally `region`; in any order, names trimmed and case-insensitive, other columns ignored.
//!
//! ```text
//! network,site,region
//! 10.1.0.0/16,Shanghai HQ,APAC
//! 10.1.8.0/24,Shanghai HQ Wi-Fi,APAC
//! 2001:db8:1::/48,Shanghai HQ,APAC
//! ```
//!
//! A session's site is the longest-prefix match of its internal IP, else of its public IP, else
//! [`UNMAPPED`]. Every problem in the file is an error naming the line (1-based, as an editor
//! counts) and what is wrong; nothing is silently skipped except what is listed here:
//!
//! - A host address with a prefix (`10.0.0.1/24`) is refused ("host bits set; did you mean
//!   10.0.0.0/24?") so that a typo never silently maps a wider net than meant. A bare address with
//!   no prefix length is refused too.
//! - The same network twice with the same site is accepted (the second line changes nothing);
//!   with different sites it is an error naming both lines.
//! - A site gets one region: the first non-empty one given; a different one later is an error.
//! - Cells are trimmed. Blank lines and lines starting with `#` are skipped; a UTF-8 BOM is
//!   stripped; LF and CRLF line ends both work.
//! - Site and region names must be non-empty (an empty region means "none"), at most
//!   `max_name_chars` characters ([`DEFAULT_MAX_NAME_CHARS`]), free of control characters, and a
//!   site may not be called `unmapped` (any case): that is the no-match value.
//! - IPv4-mapped IPv6 networks (`::ffff:10.0.0.0/104`) are refused: addresses such as
//!   `::ffff:10.1.2.3` are matched as IPv4, so write the IPv4 network.
//! - A file with a header and no rows is a valid, empty map: every session is `unmapped`.
//!
//! IP cells from the export are never an error: see [`parse_ip`].
//!
//! # Parts
//!
//! [`SiteMap`] is one parsed file with its lookup; [`Sites`] holds the current map of a file and
//! reloads it (keeping the old map when the new file is bad); [`UnmappedNetworks`] counts the
//! status page's "networks without a site" by [`private_prefix`].

mod reload;
mod unmapped;

#[cfg(test)]
mod tests;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use prefix_trie::joint::map::JointPrefixMap;

pub use reload::{ReloadOutcome, Sites};
pub use unmapped::{private_prefix, UnmappedNetworks, DEFAULT_MAX_TRACKED_PREFIXES};

/// The site of a session no network of the file matches; reserved, so no row may use it.
pub const UNMAPPED: &str = "unmapped";

/// Default cap on the characters of a site or region name (they become label values).
pub const DEFAULT_MAX_NAME_CHARS: usize = 64;

/// A sites file larger than this is refused rather than read into memory.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// What is wrong with a sites file, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitesError {
    /// The file name (or whatever the caller named the source) the error is about.
    pub file: String,
    /// The 1-based line, when the error is about one.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SitesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for SitesError {}

/// Where a session was: a site of the file, or [`UNMAPPED`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site<'a> {
    /// A network of the file matched.
    Mapped {
        name: &'a str,
        region: Option<&'a str>,
    },
    /// No network matched either address (or there was no usable address).
    Unmapped,
}

impl<'a> Site<'a> {
    /// The label value: the site's name, or `unmapped`.
    pub fn name(&self) -> &'a str {
        match *self {
            Site::Mapped { name, .. } => name,
            Site::Unmapped => UNMAPPED,
        }
    }

    /// The site's region, if the file gave one.
    pub fn region(&self) -> Option<&'a str> {
        match *self {
            Site::Mapped { region, .. } => region,
            Site::Unmapped => None,
        }
    }

    pub fn is_unmapped(&self) -> bool {
        matches!(self, Site::Unmapped)
    }
}

/// One site: its name and optional region.
#[derive(Debug)]
struct SiteInfo {
    name: String,
    region: Option<String>,
    /// The line that gave the region, for the error when another line gives a different one.
    region_line: u64,
}

/// A parsed sites file: networks to sites, with longest-prefix lookup.
#[derive(Debug, Default)]
pub struct SiteMap {
    /// Network → index into `sites`.
    table: JointPrefixMap<IpNet, usize>,
    /// Distinct sites in the order the file first names them.
    sites: Vec<SiteInfo>,
    /// Site name → index into `sites`.
    by_name: HashMap<String, usize>,
}

impl SiteMap {
    /// Reads the sites file at `path` (names capped at [`DEFAULT_MAX_NAME_CHARS`]).
    pub fn load(path: &Path) -> Result<SiteMap, SitesError> {
        Self::load_with_limit(path, DEFAULT_MAX_NAME_CHARS)
    }

    /// [`SiteMap::load`] with another cap on site and region names.
    pub fn load_with_limit(path: &Path, max_name_chars: usize) -> Result<SiteMap, SitesError> {
        let file = path.display().to_string();
        let reader = std::fs::File::open(path).map_err(|e| SitesError {
            file: file.clone(),
            line: None,
            message: format!("cannot open: {e}"),
        })?;
        Self::from_csv_with_limit(reader, &file, max_name_chars)
    }

    /// Parses a sites file; `file` names it in errors.
    pub fn from_csv(reader: impl Read, file: &str) -> Result<SiteMap, SitesError> {
        Self::from_csv_with_limit(reader, file, DEFAULT_MAX_NAME_CHARS)
    }

    /// [`SiteMap::from_csv`] with another cap on site and region names.
    pub fn from_csv_with_limit(
        reader: impl Read,
        file: &str,
        max_name_chars: usize,
    ) -> Result<SiteMap, SitesError> {
        let error = |line: Option<u64>, message: String| SitesError {
            file: file.to_owned(),
            line,
            message,
        };
        let mut bytes = Vec::new();
        reader
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| error(None, format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(error(None, format!("larger than {MAX_FILE_BYTES} bytes")));
        }
        Self::parse(&bytes, max_name_chars).map_err(|(line, message)| error(line, message))
    }

    /// The parser proper; errors are (line, message) and the caller adds the file name.
    fn parse(bytes: &[u8], max_name_chars: usize) -> Result<SiteMap, (Option<u64>, String)> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(bytes);
        let lines = Lines::new(bytes);
        let line_of =
            |position: Option<&csv::Position>| position.map(|p| lines.of_record(p.byte()));
        let csv_error = |e: csv::Error| {
            let message = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 (save the file as UTF-8)".into(),
                _ => e.to_string(),
            };
            (line_of(e.position()), message)
        };

        let header = reader.headers().map_err(csv_error)?.clone();
        let header_line = line_of(header.position());
        let column = |name: &str| -> Result<Option<usize>, (Option<u64>, String)> {
            let mut found = header
                .iter()
                .enumerate()
                .filter(|(_, h)| h.eq_ignore_ascii_case(name));
            let first = found.next().map(|(i, _)| i);
            match found.next() {
                Some(_) => Err((header_line, format!("column `{name}` appears twice"))),
                None => Ok(first),
            }
        };
        let required = |name: &str| {
            column(name)?.ok_or_else(|| {
                let message = format!("header row has no `{name}` column (need network,site)");
                (header_line, message)
            })
        };
        let (network_col, site_col, region_col) =
            (required("network")?, required("site")?, column("region")?);

        let mut map = SiteMap::default();
        // Network → (line, site index), to name both lines of a conflicting duplicate.
        let mut seen: HashMap<IpNet, (u64, usize)> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            if record.iter().all(str::is_empty) {
                continue; // a line of separators or spaces only
            }
            let line = line_of(record.position()).unwrap_or(0);
            let at = |message: String| (Some(line), message);
            let cell = |i: usize| record.get(i).unwrap_or("");

            let network = parse_network(cell(network_col)).map_err(at)?;
            let site = check_name("site", cell(site_col), max_name_chars).map_err(at)?;
            if site.eq_ignore_ascii_case(UNMAPPED) {
                return Err(at(format!(
                    "site name {site:?} is reserved for sessions no network matches"
                )));
            }
            let region = match region_col.map(cell).filter(|r| !r.is_empty()) {
                Some(region) => Some(check_name("region", region, max_name_chars).map_err(at)?),
                None => None,
            };
            let index = map.add_site(site, region, line).map_err(at)?;
            match seen.entry(network) {
                Entry::Occupied(first) => {
                    let (first_line, first_index) = *first.get();
                    if first_index != index {
                        return Err(at(format!(
                            "network {network} is already mapped to site {:?} on line \
                             {first_line}; here it is {site:?}",
                            map.sites[first_index].name
                        )));
                    }
                }
                Entry::Vacant(slot) => {
                    slot.insert((line, index));
                    map.table.insert(network, index);
                }
            }
        }
        Ok(map)
    }

    /// The index of `name`, adding it (or its region) if new; errors on a second, different region.
    fn add_site(&mut self, name: &str, region: Option<&str>, line: u64) -> Result<usize, String> {
        let Some(&index) = self.by_name.get(name) else {
            let index = self.sites.len();
            self.sites.push(SiteInfo {
                name: name.to_owned(),
                region: region.map(str::to_owned),
                region_line: line,
            });
            self.by_name.insert(name.to_owned(), index);
            return Ok(index);
        };
        let info = &mut self.sites[index];
        match (&info.region, region) {
            (Some(known), Some(new)) if known != new => Err(format!(
                "site {name:?} has region {known:?} on line {}; here it is {new:?}",
                info.region_line
            )),
            (None, Some(new)) => {
                info.region = Some(new.to_owned());
                info.region_line = line;
                Ok(index)
            }
            _ => Ok(index),
        }
    }

    /// The number of networks.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The distinct site names, in the order the file first names them (for pre-initialising
    /// label values); [`UNMAPPED`] is not among them.
    pub fn sites(&self) -> impl Iterator<Item = &str> {
        self.sites.iter().map(|s| s.name.as_str())
    }

    /// The region the file gives `site`, if any.
    pub fn region_of(&self, site: &str) -> Option<&str> {
        let index = *self.by_name.get(site)?;
        self.sites.get(index)?.region.as_deref()
    }

    /// The site of the longest-prefix match of the internal IP, else of the public IP, else
    /// [`Site::Unmapped`]. The cells are export text, normalised by [`parse_ip`].
    pub fn lookup(&self, internal_ip: Option<&str>, public_ip: Option<&str>) -> Site<'_> {
        self.lookup_addr(internal_ip.and_then(parse_ip), public_ip.and_then(parse_ip))
    }

    /// [`SiteMap::lookup`] for addresses already parsed.
    pub fn lookup_addr(&self, internal_ip: Option<IpAddr>, public_ip: Option<IpAddr>) -> Site<'_> {
        internal_ip
            .and_then(|ip| self.site_of(ip))
            .or_else(|| public_ip.and_then(|ip| self.site_of(ip)))
            .unwrap_or(Site::Unmapped)
    }

    fn site_of(&self, ip: IpAddr) -> Option<Site<'_>> {
        let (_, &index) = self.table.get_lpm(&IpNet::from(ip.to_canonical()))?;
        let info = self.sites.get(index)?;
        Some(Site::Mapped {
            name: &info.name,
            region: info.region.as_deref(),
        })
    }
}

/// Line numbers as an editor shows them. The csv crate's own line count misses the blank and
/// comment lines it skips, and a record's byte position is where the previous record ended, so
/// we step over what csv skipped and count line breaks (LF, CRLF or a lone CR) before the record.
struct Lines<'a> {
    bytes: &'a [u8],
    /// Offsets of the line breaks.
    breaks: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let breaks = (0..bytes.len())
            .filter(|&i| {
                bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'))
            })
            .collect();
        Lines { bytes, breaks }
    }

    /// The 1-based line of the record csv reports at byte `at`.
    fn of_record(&self, at: u64) -> u64 {
        let mut start = usize::try_from(at).unwrap_or(usize::MAX);
        loop {
            match self.bytes.get(start) {
                Some(b'\r' | b'\n') => start += 1,
                Some(b'#') => {
                    let next_break = self.breaks.partition_point(|&b| b < start);
                    start = self.breaks.get(next_break).map_or(usize::MAX, |&b| b + 1);
                }
                _ => break,
            }
        }
        1 + self.breaks.partition_point(|&b| b < start) as u64
    }
}

/// An IP cell of the export as an address, or `None` for anything that is not one (empty, `-`,
/// `N/A`, garbage). Surrounding whitespace and an IPv6 zone (`fe80::1%eth0`) are dropped, and an
/// IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) becomes the IPv4 address.
pub fn parse_ip(cell: &str) -> Option<IpAddr> {
    let cell = cell.trim();
    let without_zone = cell.split_once('%').map_or(cell, |(ip, _zone)| ip);
    let ip: IpAddr = without_zone.parse().ok()?;
    Some(ip.to_canonical())
}

/// A network cell as a CIDR, or what is wrong with it.
fn parse_network(text: &str) -> Result<IpNet, String> {
    if text.is_empty() {
        return Err("empty network".to_owned());
    }
    let network: IpNet = text.parse().map_err(|_| {
        if text.parse::<IpAddr>().is_ok() {
            format!("network {text:?} has no prefix length (e.g. {text}/24; one host is /32)")
        } else {
            format!(
                "malformed network {:?}: expected a CIDR such as 10.1.0.0/16 or 2001:db8::/48 \
                 (prefix length at most 32 for IPv4, 128 for IPv6)",
                shorten(text)
            )
        }
    })?;
    if network.trunc() != network {
        return Err(format!(
            "host bits set in {text}; did you mean {}?",
            network.trunc()
        ));
    }
    if let IpNet::V6(v6) = network {
        if v6.prefix_len() >= 96 && v6.addr().to_ipv4_mapped().is_some() {
            return Err(format!(
                "{text} is an IPv4-mapped IPv6 network; write the IPv4 network instead \
                 (::ffff:a.b.c.d addresses are matched as IPv4)"
            ));
        }
    }
    Ok(network)
}

/// A site or region name that is a usable label value, or what is wrong with it.
fn check_name<'a>(kind: &str, name: &'a str, max_chars: usize) -> Result<&'a str, String> {
    if name.is_empty() {
        return Err(format!("empty {kind} name"));
    }
    let chars = name.chars().count();
    if chars > max_chars {
        return Err(format!(
            "{kind} name {:?} is {chars} characters long; the limit is {max_chars}",
            shorten(name)
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "{kind} name {:?} contains a control character",
            shorten(name)
        ));
    }
    Ok(name)
}

/// At most the first 40 characters of `text`, for quoting a long cell in a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
