/**
 * The AppError a promise rejects with, so a test can assert its code and field messages; any
 * other error is rethrown, and a promise that resolves fails the test.
 */
import { type AppError, isAppError } from '../src/shared/errors.js';

export async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected the promise to reject');
}
