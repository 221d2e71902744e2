import type { FastifyReply } from 'fastify';

/** The one shape of every short answer the app gives on its own: a status and a line of plain text. */
export const replyText = (reply: FastifyReply, status: number, text: string): FastifyReply =>
  reply.code(status).header('content-type', 'text/plain; charset=utf-8').send(text);

/** Request ids and idempotency keys: short tokens safe to log, echo and use in a Redis key. */
export const ID_TOKEN = /^[\w.:-]{1,128}$/;

/** The path of a request URL, without its query string. */
export const pathOf = (url: string): string => url.split('?', 1)[0] ?? url;
