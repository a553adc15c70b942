/*-------------------------------------------------------------------------
 *
 * lsm_zoneorder.c
 *	  Which collation a zone map is ordered by: the keys that segments
 *	  record for the collation of a column's ordered zones (FORMAT.md
 *	  section 5, zone orders), and the small numbers readers compare them
 *	  by.
 *
 * NOTES
 *	  A segment writer gives a collatable column whose collation does not
 *	  sort like "C" a second zone per block: its min and max under that
 *	  collation.  A reader may use those zones for a qual only if the qual's
 *	  collation sorts exactly as the one the zones were computed with.  The
 *	  collation's OID alone does not tell: after ALTER COLUMN ... COLLATE
 *	  (no rewrite) a column's segments hold zones of its former collation,
 *	  an OID may name another collation once the old one is dropped, and a
 *	  collation library upgrade may reorder strings under the same name
 *	  (what makes PostgreSQL warn about collation version mismatches).
 *	  So the key a segment records is the collation's content: provider,
 *	  determinism, locale names and the version the library reports now,
 *	  and two collations share zones when their keys are equal (the
 *	  database default and an explicit collation of the same locale do).
 *	  A segment written before a library upgrade records the old version,
 *	  matches no qual afterwards and is simply not pruned on that column
 *	  until compaction rewrites it.
 *
 *	  Keys are interned per backend into small positive integers
 *	  (lsm_zone_order_intern) so that the per-block test is an integer
 *	  comparison; collation OIDs are mapped to their interned key once per
 *	  backend and forgotten when pg_collation changes.  The number of
 *	  distinct keys a backend meets is the number of collations in use:
 *	  they are kept for the backend's lifetime.
 *
 *	  Key layout (opaque to the format library; readers only compare
 *	  bytes): '1' (this layout), the provider ('c' libc, 'i' ICU), 'd' or
 *	  'n' (deterministic or not), then two NUL-terminated strings, for libc
 *	  LC_COLLATE and LC_CTYPE, for ICU the ICU locale and an empty string,
 *	  then the provider's version of the collation (possibly empty),
 *	  unterminated.  docs/FORMAT.md section 5.1 documents it too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_database.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/pg_locale.h"
#include "utils/syscache.h"

#include "scan/lsm_scan.h"

bool		lsm_collation_zone_maps = true;

#define LSM_ZONE_ORDER_KEY_LAYOUT	'1'

/* interned keys: id k is keys[k - 1] */
typedef struct LsmInternedKey
{
	uint16		len;
	uint8	   *bytes;
} LsmInternedKey;

static LsmInternedKey *keys = NULL;
static int	nkeys = 0;
static int	keys_cap = 0;

/* collation OID -> its key and interned id (0: no ordered zones) */
typedef struct LsmCollOrder
{
	Oid			collid;			/* hash key */
	int			order_id;
} LsmCollOrder;

static HTAB *coll_orders = NULL;

static void
lsm_zone_order_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	/* any change to pg_collation: look every collation up again */
	if (coll_orders != NULL)
	{
		hash_destroy(coll_orders);
		coll_orders = NULL;
	}
}

/*
 * lsm_zone_order_intern
 *		The backend-local number of zone-order key `key` (1, 2, ...): equal
 *		keys get equal numbers.
 */
int
lsm_zone_order_intern(const uint8 *key, uint16 len)
{
	int			i;

	for (i = 0; i < nkeys; i++)
		if (keys[i].len == len && memcmp(keys[i].bytes, key, len) == 0)
			return i + 1;
	if (nkeys == keys_cap)
	{
		keys_cap = Max(8, keys_cap * 2);
		keys = keys ? repalloc(keys, sizeof(LsmInternedKey) * keys_cap) :
			MemoryContextAlloc(TopMemoryContext, sizeof(LsmInternedKey) * keys_cap);
	}
	keys[nkeys].len = len;
	keys[nkeys].bytes = MemoryContextAlloc(TopMemoryContext, Max(len, 1));
	memcpy(keys[nkeys].bytes, key, len);
	return ++nkeys;
}

/* A text attribute of a syscache tuple, or "" if NULL. */
static char *
lsm_syscache_text(int cacheid, HeapTuple tup, AttrNumber attno)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(cacheid, tup, attno, &isnull);

	return isnull ? pstrdup("") : TextDatumGetCString(d);
}

/*
 * Build the zone-order key of collation collid into buf; false if values
 * under it need no ordered zones (C-like or unknown collations).
 */
static bool
lsm_collation_key(Oid collid, StringInfo buf)
{
	char		provider;
	bool		deterministic;
	char	   *loc1;
	char	   *loc2;
	char	   *version;
	HeapTuple	tup;

	if (!OidIsValid(collid) || lc_collate_is_c(collid))
		return false;
	if (collid == DEFAULT_COLLATION_OID)
	{
		Form_pg_database db;

		tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for database %u", MyDatabaseId);
		db = (Form_pg_database) GETSTRUCT(tup);
		provider = db->datlocprovider;
		deterministic = true;
		if (provider == COLLPROVIDER_ICU)
		{
			loc1 = lsm_syscache_text(DATABASEOID, tup, Anum_pg_database_daticulocale);
			loc2 = pstrdup("");
		}
		else
		{
			loc1 = lsm_syscache_text(DATABASEOID, tup, Anum_pg_database_datcollate);
			loc2 = lsm_syscache_text(DATABASEOID, tup, Anum_pg_database_datctype);
		}
	}
	else
	{
		Form_pg_collation coll;

		tup = SearchSysCache1(COLLOID, ObjectIdGetDatum(collid));
		if (!HeapTupleIsValid(tup))
			return false;		/* dropped meanwhile: nothing to match */
		coll = (Form_pg_collation) GETSTRUCT(tup);
		provider = coll->collprovider;
		deterministic = coll->collisdeterministic;
		if (provider == COLLPROVIDER_ICU)
		{
			loc1 = lsm_syscache_text(COLLOID, tup, Anum_pg_collation_colliculocale);
			loc2 = pstrdup("");
		}
		else
		{
			loc1 = lsm_syscache_text(COLLOID, tup, Anum_pg_collation_collcollate);
			loc2 = lsm_syscache_text(COLLOID, tup, Anum_pg_collation_collctype);
		}
	}
	ReleaseSysCache(tup);
	if (provider != COLLPROVIDER_ICU && provider != COLLPROVIDER_LIBC)
		return false;

	version = get_collation_actual_version(provider, loc1);
	appendStringInfoChar(buf, LSM_ZONE_ORDER_KEY_LAYOUT);
	appendStringInfoChar(buf, provider);
	appendStringInfoChar(buf, deterministic ? 'd' : 'n');
	appendBinaryStringInfo(buf, loc1, strlen(loc1) + 1);
	appendBinaryStringInfo(buf, loc2, strlen(loc2) + 1);
	if (version != NULL)
		appendStringInfoString(buf, version);
	return buf->len <= PG_UINT16_MAX;
}

/*
 * lsm_zone_order_of_collation
 *		The interned zone-order key of collation collid, or 0 when values
 *		under it get no ordered zones (a C-like collation, whose order the
 *		plain zone maps already keep, or no collation).
 */
int
lsm_zone_order_of_collation(Oid collid)
{
	LsmCollOrder *entry;
	bool		found;

	if (!OidIsValid(collid))
		return 0;
	if (coll_orders == NULL)
	{
		static bool callback_registered = false;
		HASHCTL		ctl;

		if (!callback_registered)
		{
			CacheRegisterSyscacheCallback(COLLOID, lsm_zone_order_inval, (Datum) 0);
			callback_registered = true;
		}
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LsmCollOrder);
		ctl.hcxt = TopMemoryContext;
		coll_orders = hash_create("lsm zone orders", 16, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(coll_orders, &collid, HASH_FIND, NULL);
	if (entry == NULL)
	{
		StringInfoData buf;
		int			id = 0;

		/* the catalog lookups may process invalidations: key first */
		initStringInfo(&buf);
		if (lsm_collation_key(collid, &buf))
			id = lsm_zone_order_intern((const uint8 *) buf.data, (uint16) buf.len);
		pfree(buf.data);
		if (coll_orders == NULL)
			return id;			/* invalidated meanwhile: do not cache */
		entry = hash_search(coll_orders, &collid, HASH_ENTER, &found);
		entry->order_id = id;
	}
	return entry->order_id;
}

/*
 * lsm_zone_order_key
 *		The zone-order key of collation collid (for a segment writer), with
 *		its interned id; false if values under it get no ordered zones.
 *		The key stays valid for the backend's lifetime.
 */
bool
lsm_zone_order_key(Oid collid, const uint8 **key, uint16 *key_len)
{
	int			id = lsm_zone_order_of_collation(collid);

	if (id == 0)
		return false;
	*key = keys[id - 1].bytes;
	*key_len = keys[id - 1].len;
	return true;
}
