import type { FastifyReply } from 'fastify';
import { CONTENT_TYPES } from './negotiate.ts';

/** The one shape of every short answer the app gives on its own: a status and a line of plain text. */
export const replyText = (reply: FastifyReply, status: number, text: string): FastifyReply =>
  reply.code(status).header('content-type', CONTENT_TYPES.text).send(text);
