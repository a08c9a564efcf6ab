/* BEP 15 wire constants: the one place these facts are written. Plain C
 * macros, so that core/udp/protocol.h (C++) and the XDP program
 * (bpf/tracker.bpf.c, C) both take them from here; tests/core/base/wire_test.cc
 * checks them against BEP 15's byte layout. */
#ifndef RINGTRACK_CORE_UDP_WIRE_CONSTANTS_H_
#define RINGTRACK_CORE_UDP_WIRE_CONSTANTS_H_

/* The connect request's protocol id. */
#define RT_PROTOCOL_MAGIC 0x41727101980ULL

/* Actions. */
#define RT_ACTION_CONNECT 0
#define RT_ACTION_ANNOUNCE 1
#define RT_ACTION_SCRAPE 2
#define RT_ACTION_ERROR 3

/* Requests: sizes and offsets in bytes. */
#define RT_MIN_REQUEST_SIZE 16
#define RT_CONNECT_REQUEST_SIZE 16
#define RT_ANNOUNCE_REQUEST_SIZE 98
#define RT_SCRAPE_REQUEST_HEADER_SIZE 16
#define RT_MAX_SCRAPE_HASHES 74
#define RT_INFO_HASH_SIZE 20
#define RT_OFF_CONNECTION_ID 0
#define RT_OFF_PROTOCOL_ID 0 /* connect: where the magic sits */
#define RT_OFF_ACTION 8
#define RT_OFF_TRANSACTION_ID 12
#define RT_OFF_INFO_HASH 16
#define RT_OFF_PEER_ID 36
#define RT_OFF_DOWNLOADED 56
#define RT_OFF_LEFT 64
#define RT_OFF_UPLOADED 72
#define RT_OFF_EVENT 80
#define RT_OFF_IP 84
#define RT_OFF_KEY 88
#define RT_OFF_NUM_WANT 92
#define RT_OFF_PORT 96

/* Responses. */
#define RT_CONNECT_RESPONSE_SIZE 16
#define RT_ANNOUNCE_RESPONSE_HEADER_SIZE 20
#define RT_SCRAPE_RESPONSE_HEADER_SIZE 8
#define RT_SCRAPE_ENTRY_SIZE 12
#define RT_ERROR_RESPONSE_HEADER_SIZE 8
#define RT_PEER_ENTRY_SIZE_V4 6
#define RT_PEER_ENTRY_SIZE_V6 18

#endif /* RINGTRACK_CORE_UDP_WIRE_CONSTANTS_H_ */
