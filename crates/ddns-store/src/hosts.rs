//! Reading hosts, their record sets and whole zones.

use ddns_core::{DomainName, RecordSet};

use crate::{Store, StoreError, name_from_db, rtype_from_db, set_from_db};

/// A host with its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRecord {
    /// The zone it is in.
    pub zone: DomainName,
    /// Its name.
    pub name: DomainName,
    /// Version (the REST API's ETag).
    pub version: i64,
    /// Its dynamic record sets, by type.
    pub rrsets: Vec<RecordSet>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// One stored RRset with its owner, for building snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRrset {
    /// Owner.
    pub name: DomainName,
    /// Content.
    pub set: RecordSet,
    /// From the configuration.
    pub is_static: bool,
}

/// Every RRset of a zone, and the rows that could not be read (reported, never fatal).
#[derive(Clone, Debug, Default)]
pub struct ZoneRecords {
    /// The readable RRsets.
    pub rrsets: Vec<StoredRrset>,
    /// One line per unreadable row.
    pub skipped: Vec<String>,
}

/// Which hosts a listing shows: names a token's scope covers, evaluated in SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostFilter {
    /// Every host.
    All,
    /// These exact names, and every name strictly below the `below` names.
    Scope {
        /// Exact names.
        exact: Vec<DomainName>,
        /// Subtrees.
        below: Vec<DomainName>,
    },
}

pub(crate) type HostRow = (i64, String, String, i64, String, String);

/// A bound on the hosts a caller may have: a change set that creates a host fails with
/// [`StoreError::HostQuota`] when more than `max_hosts` would then match `filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostQuota {
    /// The hosts that count (a token's scope).
    pub filter: HostFilter,
    /// How many may exist.
    pub max_hosts: u32,
}

/// Appends ` AND (…)` restricting `hosts h` to what `filter` lets through, its values to
/// `binds`; `false` when nothing can match.
pub(crate) fn filter_sql(filter: &HostFilter, sql: &mut String, binds: &mut Vec<String>) -> bool {
    let HostFilter::Scope { exact, below } = filter else {
        return true;
    };
    let mut alternatives = Vec::new();
    for name in exact {
        binds.push(name.as_str().to_owned());
        alternatives.push(format!("h.name = ${}", binds.len()));
    }
    for name in below {
        // `_` and `%` cannot occur in names besides `_`, which is escaped.
        binds.push(format!("%.{}", name.as_str().replace('_', "\\_")));
        alternatives.push(format!("h.name LIKE ${} ESCAPE '\\'", binds.len()));
    }
    if alternatives.is_empty() {
        return false;
    }
    sql.push_str(" AND (");
    sql.push_str(&alternatives.join(" OR "));
    sql.push(')');
    true
}

impl Store {
    /// Every RRset of `zone` (to build its DNS snapshot; read on the follower's pool).
    pub async fn zone_rrsets(&self, zone: &DomainName) -> Result<ZoneRecords, StoreError> {
        self.rrsets_where_on(&self.replay_pool, zone, "", &[]).await
    }

    /// The static RRsets of `zone` (the configuration's part), without reading the rest.
    pub async fn static_rrsets(&self, zone: &DomainName) -> Result<ZoneRecords, StoreError> {
        self.rrsets_where(zone, " AND r.static = 1", &[]).await
    }

    /// Every RRset, static or dynamic, at the given owners of `zone`.
    pub async fn rrsets_at(
        &self,
        zone: &DomainName,
        owners: &[&DomainName],
    ) -> Result<ZoneRecords, StoreError> {
        let mut out = ZoneRecords::default();
        // A few hundred owners per query keeps far below SQLite's limit of bound parameters.
        for chunk in owners.chunks(500) {
            // $1 is the zone.
            let filter = format!(" AND r.owner IN ({})", crate::numbered(2, chunk.len()));
            let names: Vec<&str> = chunk.iter().map(|n| n.as_str()).collect();
            let part = self.rrsets_where(zone, &filter, &names).await?;
            out.rrsets.extend(part.rrsets);
            out.skipped.extend(part.skipped);
        }
        Ok(out)
    }

    /// RRsets of `zone` with an extra SQL condition on `records r` (placeholders only; every
    /// value is in `binds`).
    async fn rrsets_where(
        &self,
        zone: &DomainName,
        condition: &str,
        binds: &[&str],
    ) -> Result<ZoneRecords, StoreError> {
        self.rrsets_where_on(&self.pool, zone, condition, binds)
            .await
    }

    async fn rrsets_where_on(
        &self,
        pool: &sqlx::AnyPool,
        zone: &DomainName,
        condition: &str,
        binds: &[&str],
    ) -> Result<ZoneRecords, StoreError> {
        let sql = format!(
            "SELECT r.owner, r.rtype, r.ttl, r.rdata, r.static FROM records r \
             JOIN zones z ON z.id = r.zone_id WHERE z.name = $1{condition}"
        );
        let mut query = sqlx::query_as::<_, RrsetRow>(sqlx::AssertSqlSafe(sql)).bind(zone.as_str());
        for b in binds {
            query = query.bind(*b);
        }
        let rows = query.fetch_all(pool).await.map_err(StoreError::from_sqlx)?;
        let mut out = ZoneRecords::default();
        out.rrsets.reserve(rows.len());
        for row in rows {
            match stored_rrset(row) {
                Ok(r) => out.rrsets.push(r),
                Err(e) => out.skipped.push(e),
            }
        }
        Ok(out)
    }

    /// One host.
    pub async fn host(&self, name: &DomainName) -> Result<Option<HostRecord>, StoreError> {
        let row: Option<HostRow> = sqlx::query_as(
            "SELECT h.id, z.name, h.name, h.version, h.created_at, h.updated_at FROM hosts h \
             JOIN zones z ON z.id = h.zone_id WHERE h.name = $1",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut hosts = self.with_rrsets(vec![row]).await?;
        Ok(hosts.pop())
    }

    /// Hosts that `filter` lets through, by name, after `after`, at most `limit`: two queries
    /// whatever the page size.
    pub async fn hosts(
        &self,
        filter: &HostFilter,
        after: Option<&DomainName>,
        limit: u32,
    ) -> Result<Vec<HostRecord>, StoreError> {
        let mut sql = String::from(
            "SELECT h.id, z.name, h.name, h.version, h.created_at, h.updated_at FROM hosts h \
             JOIN zones z ON z.id = h.zone_id WHERE h.name > $1",
        );
        let mut binds: Vec<String> = vec![after.map(|a| a.as_str().to_owned()).unwrap_or_default()];
        if !filter_sql(filter, &mut sql, &mut binds) {
            return Ok(Vec::new());
        }
        sql.push_str(&format!(" ORDER BY h.name LIMIT ${}", binds.len() + 1));
        // Only placeholders are spliced in; every value is bound.
        let mut query = sqlx::query_as::<_, HostRow>(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            query = query.bind(b);
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        self.with_rrsets(rows).await
    }

    pub(crate) async fn with_rrsets(
        &self,
        rows: Vec<HostRow>,
    ) -> Result<Vec<HostRecord>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // One query for the records of every host of the page (pages are at most a few
        // thousand hosts, far below SQLite's limit of bound parameters).
        let placeholders = crate::params(self.backend, 1, rows.len());
        let sql = format!(
            "SELECT host_id, rtype, ttl, rdata FROM records WHERE host_id IN ({placeholders}) \
             ORDER BY rtype"
        );
        let mut query = sqlx::query_as::<_, (i64, i64, i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql));
        for row in &rows {
            query = query.bind(row.0);
        }
        let sets = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::from_sqlx)?;
        let mut by_host: std::collections::HashMap<i64, Vec<RecordSet>> =
            std::collections::HashMap::new();
        for (host_id, rtype, ttl, rdata) in sets {
            let rtype = rtype_from_db(rtype)?;
            by_host
                .entry(host_id)
                .or_default()
                .push(set_from_db(rtype, ttl, &rdata)?);
        }
        rows.into_iter()
            .map(|(id, zone, name, version, created_at, updated_at)| {
                Ok(HostRecord {
                    zone: name_from_db(&zone)?,
                    name: name_from_db(&name)?,
                    version,
                    rrsets: by_host.remove(&id).unwrap_or_default(),
                    created_at,
                    updated_at,
                })
            })
            .collect()
    }
}

/// `owner, rtype, ttl, rdata, static` of a records row.
type RrsetRow = (String, i64, i64, Vec<u8>, i64);

/// A records row as an RRset, or what is wrong with it.
fn stored_rrset((owner, rtype, ttl, rdata, is_static): RrsetRow) -> Result<StoredRrset, String> {
    let read = || -> Result<StoredRrset, StoreError> {
        let rtype = rtype_from_db(rtype)?;
        Ok(StoredRrset {
            name: name_from_db(&owner)?,
            set: set_from_db(rtype, ttl, &rdata)?,
            is_static: is_static != 0,
        })
    };
    read().map_err(|e| format!("{owner} type {rtype}: {e}"))
}
