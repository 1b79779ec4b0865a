import { createTransport } from "nodemailer";

export interface MimeMessage {
  /** The complete RFC 5322 message (CRLF line ends), ready for SMTP. */
  raw: string;
  messageId: string;
}

export interface MailContent {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

/**
 * Renders mail with nodemailer's stream transport: the real MIME message nodemailer would send,
 * returned as bytes instead of leaving the machine. Sending happens later, from the stored copy.
 */
export const createMimeRenderer = (): ((mail: MailContent) => Promise<MimeMessage>) => {
  const transport = createTransport({ streamTransport: true, buffer: true, newline: "windows" });
  return async (mail) => {
    const info = await transport.sendMail(mail);
    if (!Buffer.isBuffer(info.message)) throw new Error("stream transport did not buffer the message");
    return { raw: info.message.toString("utf8"), messageId: info.messageId };
  };
};

/** `orders@shop.example` out of `Shop <orders@shop.example>` (or the bare address itself). */
export const addressOf = (mailbox: string): string => mailbox.match(/<([^>]+)>/)?.[1] ?? mailbox.trim();
