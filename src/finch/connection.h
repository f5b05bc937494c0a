/*
 * connection.h: the statuses Finch gives a connection once an employer has
 * used a link, and how the funnel (status, the export, the metrics) groups
 * them: pure.
 *
 * The statuses are account.updated's data.status (finch-api-node 10.7
 * src/resources/shared.ts ConnectionStatusType); the program learns them
 * from webhooks and the app's connections file. The groups say what the
 * account manager does next:
 *
 *	connected      connected                        nothing
 *	syncing        pending, processing              wait: Finch is setting it up
 *	needs_reauth   reauth, error_permissions        a reauthentication link
 *	                                                (store_queue.h REAUTH_NEEDED_SQL,
 *	                                                what --reauthenticate sends)
 *	no_account     error_no_account_setup           the employer sets up its
 *	                                                account at the provider
 *	                                                (Finch's 401
 *	                                                account_setup_required)
 *	disconnected   disconnected                     a new link (a new session)
 *	unknown        none heard yet (a connection_id  nothing to do but wait for
 *	               from connection_already_exists)  a webhook
 */
#ifndef FINCH_CONNECTION_H
#define FINCH_CONNECTION_H

#define CONNECTION_STATUS_COUNT 7

/* The statuses, in this order: an index is a bit of export --state's mask. */
extern const char *const connection_statuses[CONNECTION_STATUS_COUNT];

/* The index of status in connection_statuses[], or -1 (NULL or unknown). */
int connection_status_index(const char *status);

enum connection_group {
	CONNECTION_GROUP_CONNECTED,
	CONNECTION_GROUP_SYNCING,
	CONNECTION_GROUP_NEEDS_REAUTH,
	CONNECTION_GROUP_NO_ACCOUNT,
	CONNECTION_GROUP_DISCONNECTED,
	CONNECTION_GROUP_UNKNOWN,
	CONNECTION_GROUP_COUNT
};

/* The group of status (NULL or unknown: CONNECTION_GROUP_UNKNOWN). */
enum connection_group connection_group_of(const char *status);
/* "connected", "syncing", "needs_reauth", "no_account", "disconnected", "unknown". */
const char *connection_group_name(enum connection_group g);
/* What the group means for the account manager, for status's text. */
const char *connection_group_meaning(enum connection_group g);

#endif
