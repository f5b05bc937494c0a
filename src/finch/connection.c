/*
 * connection.c: connection statuses and their groups; see connection.h.
 */
#include "finch/connection.h"

#include <string.h>

#include "base/util.h"

/* finch-api-node src/resources/shared.ts ConnectionStatusType (10.7) */
const char *const connection_statuses[CONNECTION_STATUS_COUNT] = {
    "pending",	    "processing",	 "connected",
    "reauth",	    "error_permissions", "error_no_account_setup",
    "disconnected",
};

/* The group of each status, in connection_statuses[]' order. */
static const enum connection_group status_group[CONNECTION_STATUS_COUNT] = {
    CONNECTION_GROUP_SYNCING,	   CONNECTION_GROUP_SYNCING,	  CONNECTION_GROUP_CONNECTED,
    CONNECTION_GROUP_NEEDS_REAUTH, CONNECTION_GROUP_NEEDS_REAUTH, CONNECTION_GROUP_NO_ACCOUNT,
    CONNECTION_GROUP_DISCONNECTED,
};

static const char *const group_names[CONNECTION_GROUP_COUNT] = {
    "connected", "syncing", "needs_reauth", "no_account", "disconnected", "unknown",
};

static const char *const group_meanings[CONNECTION_GROUP_COUNT] = {
    "connected: nothing to do",
    "pending or processing: Finch is setting the connection up",
    "reauth or error_permissions: need a reauthentication link (sync --reauthenticate)",
    "error_no_account_setup: the employer must set up its account at the provider",
    "disconnected: needs a new link",
    "no status heard yet (no webhook, no status in a connections file)",
};

int connection_status_index(const char *status)
{
	for (int i = 0; status && i < CONNECTION_STATUS_COUNT; i++)
		if (!strcmp(status, connection_statuses[i]))
			return i;
	return -1;
}

enum connection_group connection_group_of(const char *status)
{
	int i = connection_status_index(status);

	return i < 0 ? CONNECTION_GROUP_UNKNOWN : status_group[i];
}

const char *connection_group_name(enum connection_group g)
{
	return (unsigned)g < CONNECTION_GROUP_COUNT ? group_names[g] : "unknown";
}

const char *connection_group_meaning(enum connection_group g)
{
	return (unsigned)g < CONNECTION_GROUP_COUNT ? group_meanings[g] : "unknown";
}
