//! Reading hosts and their record sets.

use ddns_core::{DomainName, RecordSet};

use crate::{Store, StoreError, name_from_db, rrset_from_db};

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

/// One stored RRset with its place, for building snapshots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRrset {
    /// Zone.
    pub zone: DomainName,
    /// Owner.
    pub name: DomainName,
    /// Content.
    pub set: RecordSet,
}

type HostRow = (i64, String, String, i64, String, String);

impl Store {
    /// Every stored RRset (to build the DNS snapshot at start-up).
    pub async fn all_rrsets(&self) -> Result<Vec<StoredRrset>, StoreError> {
        let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
            "SELECT z.name, h.name, r.rtype, r.ttl, r.rdata FROM rrsets r \
             JOIN hosts h ON h.id = r.host_id JOIN zones z ON z.id = h.zone_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(zone, name, rtype, ttl, rdata)| {
                Ok(StoredRrset {
                    zone: name_from_db(&zone)?,
                    name: name_from_db(&name)?,
                    set: rrset_from_db(&rtype, ttl, &rdata)?,
                })
            })
            .collect()
    }

    /// One host.
    pub async fn host(&self, name: &DomainName) -> Result<Option<HostRecord>, StoreError> {
        let row: Option<HostRow> = sqlx::query_as(
            "SELECT h.id, z.name, h.name, h.version, h.created_at, h.updated_at FROM hosts h \
             JOIN zones z ON z.id = h.zone_id WHERE h.name = ?",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        match row {
            Some(row) => Ok(Some(self.host_with_rrsets(row).await?)),
            None => Ok(None),
        }
    }

    /// All hosts, by name.
    pub async fn hosts(&self) -> Result<Vec<HostRecord>, StoreError> {
        let rows: Vec<HostRow> = sqlx::query_as(
            "SELECT h.id, z.name, h.name, h.version, h.created_at, h.updated_at FROM hosts h \
             JOIN zones z ON z.id = h.zone_id ORDER BY h.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.host_with_rrsets(row).await?);
        }
        Ok(out)
    }

    async fn host_with_rrsets(&self, row: HostRow) -> Result<HostRecord, StoreError> {
        let (id, zone, name, version, created_at, updated_at) = row;
        let sets: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT rtype, ttl, rdata FROM rrsets WHERE host_id = ? ORDER BY rtype")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::from_sqlx)?;
        let mut rrsets = sets
            .into_iter()
            .map(|(rtype, ttl, rdata)| rrset_from_db(&rtype, ttl, &rdata))
            .collect::<Result<Vec<_>, _>>()?;
        rrsets.sort_by_key(|s| s.data.rtype());
        Ok(HostRecord {
            zone: name_from_db(&zone)?,
            name: name_from_db(&name)?,
            version,
            rrsets,
            created_at,
            updated_at,
        })
    }
}
