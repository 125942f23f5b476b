// GraphQL over HTTP: the same POST /graphql any client of modelreg makes.

import { token } from "./session.js";

/** An error the API answered with: `code` is its extensions.code (NOT_FOUND, FORBIDDEN, ...). */
export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || "ERROR";
  }
}

/** The token was refused (unknown, expired, revoked): the viewer must sign in again. */
export class AuthError extends ApiError {
  constructor(message) {
    super(message, "UNAUTHENTICATED");
  }
}

const authFailureHandlers = new Set();

/** Called with an AuthError whenever the server refuses the token. */
export function onAuthFailure(handler) {
  authFailureHandlers.add(handler);
}

export function reportAuthFailure(error) {
  for (const handler of authFailureHandlers) handler(error);
}

/**
 * Run a query or mutation; resolves to its `data`, rejects with ApiError.
 * `given` overrides the session's token (signing in checks a token before keeping it).
 */
export async function gql(query, variables = {}, given = null) {
  const bearer = given ?? token();
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("the server cannot be reached", "NETWORK");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`the server answered HTTP ${response.status}`, "HTTP_ERROR");
  }
  const first = body && Array.isArray(body.errors) ? body.errors[0] : null;
  if (response.status === 401) {
    const error = new AuthError(first?.message || "the token was refused");
    if (given === null) reportAuthFailure(error);
    throw error;
  }
  if (first) throw new ApiError(first.message, first.extensions?.code);
  if (!response.ok || !body.data) throw new ApiError(`the server answered HTTP ${response.status}`, "HTTP_ERROR");
  return body.data;
}
