//! A reader for the pages Graph sends, for the hot path of a sweep: it matches each property name by
//! its bytes, takes strings without escapes as slices of the page (found eight bytes at a time), and
//! skips unknown values without building anything. It gives up (`None`) on whatever it does not
//! read exactly as serde_json and the derived `Deserialize` would — malformed JSON, a value of an
//! unexpected type, a repeated property, an escape in a property name, deep nesting — and the caller
//! then decodes the page with serde_json, which returns the same rows or its own error message. A
//! string value with escapes is handed to serde_json alone, so it is unescaped (or rejected) the same.

use std::borrow::Cow;

use serde::de::IgnoredAny;

use super::{Text, UserRegistrationDetails};
use crate::reports::Page;

/// The page, if this reader reads it exactly as `serde_json::from_str` would; `None` otherwise.
pub(super) fn decode(text: &str) -> Option<Page<UserRegistrationDetails<'_>>> {
    let mut r = Reader { text, b: text.as_bytes(), pos: 0, follows: [0; FIELDS.len() + 1] };
    let page = r.page()?;
    r.ws();
    (r.pos == r.b.len()).then_some(page)
}

/// Nesting below a skipped property that this reader follows; deeper values go to serde_json,
/// whose own limit is 128 levels from the top.
const MAX_SKIP_DEPTH: u32 = 64;

struct Reader<'a> {
    text: &'a str,
    b: &'a [u8],
    pos: usize,
    /// For each row property, the one that followed it in the previous row (`FIELDS.len()` for the
    /// end of the row): Graph writes every row's properties in the same order, so the next name is
    /// checked against this guess before it is scanned.
    follows: [u8; FIELDS.len() + 1],
}

/// The row properties read, each with its closing quote; the index is [`Reader::row`]'s field number.
const FIELDS: [&[u8]; 13] = [
    b"id\"",
    b"userType\"",
    b"isAdmin\"",
    b"isMfaCapable\"",
    b"isMfaRegistered\"",
    b"isPasswordlessCapable\"",
    b"isSsprCapable\"",
    b"isSsprEnabled\"",
    b"isSsprRegistered\"",
    b"isSystemPreferredAuthenticationMethodEnabled\"",
    b"methodsRegistered\"",
    b"userPreferredMethodForSecondaryAuthentication\"",
    b"lastUpdatedDateTime\"",
];
const OTHER: usize = FIELDS.len();

impl<'a> Reader<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips whitespace and takes the next byte.
    #[inline]
    fn next_token(&mut self) -> Option<u8> {
        self.ws();
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    #[inline]
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next_token()? == c).then_some(())
    }

    /// Skips whitespace and takes `c` if it is next.
    #[inline]
    fn take(&mut self, c: u8) -> bool {
        self.ws();
        let found = self.peek() == Some(c);
        self.pos += usize::from(found);
        found
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.b.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    /// At an opening quote: the string's contents (still escaped) and whether it has escapes.
    #[inline]
    fn string(&mut self) -> Option<(&'a str, bool)> {
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            i = find_special(self.b, i);
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                _ => return None, // a control character
            }
        }
        self.pos = i + 1;
        // `i` is at an ASCII quote and `start` just after one, so both are character boundaries.
        Some((&self.text[start..i], escaped))
    }

    /// A property name (no escapes) and the colon after it.
    #[inline]
    fn key(&mut self) -> Option<&'a [u8]> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        let (key, escaped) = self.string()?;
        if escaped {
            return None;
        }
        self.expect(b':')?;
        self.ws();
        Some(key.as_bytes())
    }

    /// After a property or element: whether another follows (`,`) or the container ends (`close`).
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        match self.next_token()? {
            b',' => Some(true),
            c if c == close => Some(false),
            _ => None,
        }
    }

    fn text(&mut self) -> Option<Text<'a>> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.pos;
        let (s, escaped) = self.string()?;
        if !escaped {
            return Some(Text(Cow::Borrowed(s)));
        }
        serde_json::from_str(&self.text[start..self.pos]).ok()
    }

    fn opt_text(&mut self) -> Option<Option<Text<'a>>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        self.text().map(Some)
    }

    fn opt_bool(&mut self) -> Option<Option<bool>> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| Some(true)),
            b'f' => self.literal(b"false").map(|()| Some(false)),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    fn page(&mut self) -> Option<Page<UserRegistrationDetails<'a>>> {
        self.expect(b'{')?;
        let mut value = None;
        let mut next_link = None;
        let mut seen_link = false;
        if !self.take(b'}') {
            loop {
                match self.key()? {
                    b"value" if value.is_none() => value = Some(self.rows()?),
                    b"@odata.nextLink" if !seen_link => {
                        seen_link = true;
                        next_link = self.opt_text()?.map(|t| t.0.into_owned());
                    }
                    b"value" | b"@odata.nextLink" => return None, // repeated
                    _ => self.skip_value(0)?,
                }
                if !self.more(b'}')? {
                    break;
                }
            }
        }
        Some(Page { value: value?, next_link })
    }

    fn rows(&mut self) -> Option<Vec<UserRegistrationDetails<'a>>> {
        self.expect(b'[')?;
        let mut rows = Vec::new();
        if self.take(b']') {
            return Some(rows);
        }
        loop {
            let start = self.pos;
            rows.push(self.row()?);
            if rows.len() == 1 {
                // Room for as many rows as the rest of the page holds if they are the size of the first.
                rows.reserve((self.b.len() - self.pos) / (self.pos - start));
            }
            if !self.more(b']')? {
                return Some(rows);
            }
        }
    }

    /// The field number of the next row property (`OTHER` for one not read), and the colon after it.
    #[inline]
    fn field(&mut self, guess: usize) -> Option<usize> {
        self.ws();
        if self.peek()? != b'"' {
            return None;
        }
        let name = FIELDS.get(guess).copied().unwrap_or(b"");
        let after = self.pos + 1;
        let field = if !name.is_empty() && matches_at(self.b, after, name) {
            self.pos = after + name.len();
            guess
        } else {
            let (key, escaped) = self.string()?;
            if escaped {
                return None;
            }
            let key = key.as_bytes();
            FIELDS.iter().position(|f| f.len() == key.len() + 1 && f.starts_with(key)).unwrap_or(OTHER)
        };
        self.expect(b':')?;
        self.ws();
        Some(field)
    }

    fn row(&mut self) -> Option<UserRegistrationDetails<'a>> {
        self.expect(b'{')?;
        let mut row = UserRegistrationDetails::default();
        if self.take(b'}') {
            return Some(row);
        }
        let mut seen = 0u16;
        let mut previous = OTHER;
        loop {
            let field = self.field(usize::from(self.follows[previous]))?;
            match field {
                0 => row.id = self.opt_text()?,
                1 => row.user_type = self.opt_text()?,
                2 => row.is_admin = self.opt_bool()?,
                3 => row.is_mfa_capable = self.opt_bool()?.unwrap_or(false),
                4 => row.is_mfa_registered = self.opt_bool()?.unwrap_or(false),
                5 => row.is_passwordless_capable = self.opt_bool()?.unwrap_or(false),
                6 => row.is_sspr_capable = self.opt_bool()?.unwrap_or(false),
                7 => row.is_sspr_enabled = self.opt_bool()?.unwrap_or(false),
                8 => row.is_sspr_registered = self.opt_bool()?.unwrap_or(false),
                9 => row.is_system_preferred_authentication_method_enabled = self.opt_bool()?.unwrap_or(false),
                10 => self.methods(&mut row.methods_registered)?,
                11 => row.user_preferred_method_for_secondary_authentication = self.opt_text()?,
                12 => row.last_updated_date_time = self.opt_text()?,
                _ => self.skip_value(0)?,
            }
            if field != OTHER {
                // The derived Deserialize rejects a repeated property.
                if seen & (1 << field) != 0 {
                    return None;
                }
                seen |= 1 << field;
            }
            self.follows[previous] = field as u8;
            previous = field;
            if !self.more(b'}')? {
                return Some(row);
            }
        }
    }

    /// `null` (none) or an array of strings.
    fn methods(&mut self, out: &mut Vec<Text<'a>>) -> Option<()> {
        if self.peek()? == b'n' {
            return self.literal(b"null");
        }
        if self.peek()? != b'[' {
            return None;
        }
        self.pos += 1;
        if self.take(b']') {
            return Some(());
        }
        loop {
            self.ws();
            out.push(self.text()?);
            if !self.more(b']')? {
                return Some(());
            }
        }
    }

    /// Any JSON value, checked as strictly as serde_json checks a value it ignores.
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_SKIP_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'"' => {
                let start = self.pos;
                let (_, escaped) = self.string()?;
                if escaped {
                    serde_json::from_str::<IgnoredAny>(&self.text[start..self.pos]).ok()?;
                }
            }
            b'{' => {
                self.pos += 1;
                if !self.take(b'}') {
                    loop {
                        self.key()?;
                        self.skip_value(depth + 1)?;
                        if !self.more(b'}')? {
                            break;
                        }
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if !self.take(b']') {
                    loop {
                        self.skip_value(depth + 1)?;
                        if !self.more(b']')? {
                            break;
                        }
                    }
                }
            }
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        }
        Some(())
    }

    /// A JSON number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        let b = self.b;
        let mut i = self.pos;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        i += usize::from(b[i] == b'-');
        match *b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => i = digits(i + 1),
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return None;
            }
            i = end;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            i += usize::from(matches!(b.get(i), Some(b'+' | b'-')));
            let end = digits(i);
            if end == i {
                return None;
            }
            i = end;
        }
        self.pos = i;
        Some(())
    }
}

/// Whether `b` has `name` at `at`: eight bytes at a time (the last eight overlapping), without a
/// call to `memcmp` for these short names.
#[inline]
fn matches_at(b: &[u8], at: usize, name: &[u8]) -> bool {
    let Some(s) = b.get(at..at + name.len()) else {
        return false;
    };
    let n = name.len();
    if n < 8 {
        return s.iter().zip(name).all(|(x, y)| x == y);
    }
    let word = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("eight bytes"));
    let mut i = 0;
    while i + 8 < n {
        if word(s, i) != word(name, i) {
            return false;
        }
        i += 8;
    }
    word(s, n - 8) == word(name, n - 8)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The index of the first `"`, `\` or control character at or after `i` (or past the end), eight
/// bytes at a time.
#[inline]
fn find_special(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let v = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = v ^ (ONES * u64::from(b'"'));
        let backslash = v ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set where it is zero (or below 0x20 for `v`); the lowest set bit is
        // exact, which is the only one read.
        let found = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (v.wrapping_sub(ONES * 0x20) & !v);
        let found = found & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\' | 0..=0x1f) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graph's shape with everything around it a page may hold: unknown properties of every kind,
    /// escapes, nulls, whitespace, an empty row.
    const PAGE: &str = r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#x(id)","@odata.nextLink":"https://graph.microsoft.com/v1.0/x?$skiptoken=a%3D_1",
      "value":[{"id":"86462606-fde0-4fc4-9e0c-a20eb73e54c6","userPrincipalName":"Alex\u00e9W@Contoso.com","isAdmin":false,
        "isSsprRegistered":false,"isSsprEnabled":true,"isSsprCapable":false,"isMfaRegistered":true,"isMfaCapable":true,
        "isPasswordlessCapable":false,"lastUpdatedDateTime":"2023-03-13T19:15:41.6195833Z",
        "methodsRegistered":["microsoftAuthenticatorPush","softwareOneTimePasscode"],"isSystemPreferredAuthenticationMethodEnabled":true,
        "systemPreferredAuthenticationMethods":["push"],"userPreferredMethodForSecondaryAuthentication":"push","userType":"member",
        "n":[-0.5e+3,10,0,1E9,{"a":[true,null,{}],"b":"x\"y"},[]]} ,
       { "id" : null , "isAdmin" : null , "userType" : "gu\u0065st" , "methodsRegistered" : null ,
        "isMfaCapable" : null , "userPreferredMethodForSecondaryAuthentication" : "" , "lastUpdatedDateTime" : "\/x" },
       {},{"methodsRegistered":[],"id":"é"}]}
    "#;

    fn same_as_serde(text: &str) -> Option<String> {
        let ours = decode(text)?;
        let theirs: Page<UserRegistrationDetails> =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("read a page serde_json rejects ({e}): {text}"));
        let (ours, theirs) = (format!("{ours:?}"), format!("{theirs:?}"));
        assert_eq!(ours, theirs, "{text}");
        Some(ours)
    }

    #[test]
    fn graph_shaped_pages_read_as_serde_json_reads_them() {
        let read = decode(PAGE).expect("read without serde_json");
        assert_eq!(read.value.len(), 4);
        assert!(matches!(read.value[0].id.as_ref().map(|t| &t.0), Some(Cow::Borrowed(_))), "strings borrow");
        assert_eq!(read.value[1].user_type.as_deref(), Some("guest"));
        assert_eq!(read.value[1].last_updated_date_time.as_deref(), Some("/x"));
        same_as_serde(PAGE).unwrap();
        for page in [
            r#"{"value":[]}"#,
            r#" {"value":[],"@odata.nextLink":null} "#,
            r#"{"@odata.nextLink":"https:\/\/g\/x?a=1\u0026b=2","value":[{"id":"a"},{"id":"b"}]}"#,
            "{\"value\":[{\"isAdmin\":true,\"x\":1,\"x\":2}]}\n",
        ] {
            same_as_serde(page).unwrap_or_else(|| panic!("handed to serde_json: {page}"));
        }
    }

    /// Anything unusual goes to serde_json, for the same result or its error message.
    #[test]
    fn other_shapes_are_left_to_serde_json() {
        for page in [
            r#"{"value":[{"id":"a","id":"b"}]}"#,
            r#"{"value":[],"value":[]}"#,
            r#"{"value":[{"i\u0064":"a"}]}"#,
            r#"{"value":[["a"]]}"#,
            r#"[[]]"#,
            r#"{"value":[{"isMfaCapable":"yes"}]}"#,
            r#"{"value":[{"methodsRegistered":[null]}]}"#,
            r#"{"value":[{"x":01}]}"#,
            r#"{"value":[{"x":"a\qb"}]}"#,
            r#"{"value":[],}"#,
            r#"{"value":[]} x"#,
            "{\"value\":[{\"x\":\"a\tb\"}]}",
            &format!(r#"{{"value":[{{"x":{}{}}}]}}"#, "[".repeat(100), "]".repeat(100)),
        ] {
            assert!(decode(page).is_none(), "{page}");
        }
        let e = read_page_error(r#"{"value":[{"isMfaCapable":"yes"}]}"#);
        assert_eq!(e, "invalid type: string \"yes\", expected a boolean at line 1 column 31");
    }

    fn read_page_error(text: &str) -> String {
        super::super::read_page(text).map(|_| ()).unwrap_err().to_string()
    }

    /// Every truncation, deletion and substitution of one byte of `PAGE`: what this reader reads,
    /// serde_json reads the same; what serde_json rejects, this reader leaves to it.
    #[test]
    fn damaged_pages_are_never_read_differently() {
        let base = PAGE.as_bytes();
        let mut mutants: Vec<Vec<u8>> = Vec::new();
        for i in 0..base.len() {
            mutants.push(base[..i].to_vec());
            mutants.push([&base[..i], &base[i + 1..]].concat());
            for c in b"\"\\,:{}[]0-e.ntfx \t\x01" {
                let mut m = base.to_vec();
                m[i] = *c;
                mutants.push(m);
            }
        }
        let mut read = 0;
        for m in &mutants {
            if let Ok(text) = std::str::from_utf8(m) {
                read += usize::from(same_as_serde(text).is_some());
            }
        }
        // Most damage is caught; harmless damage (a changed letter in a value) is still read here.
        assert!(read > 1000, "{read} of {} read", mutants.len());
    }
}
