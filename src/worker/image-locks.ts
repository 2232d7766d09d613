import { JobFailure } from '../errors/job-failure.ts';

interface ImageState {
  uploads: number;
  deleting: boolean;
  idle: (() => void)[];
}

/**
 * Who is using which image: uploads share an image, a delete waits for them and then has it
 * alone. Once a delete starts, new uploads of that image are refused.
 */
export class ImageLocks {
  private readonly states = new Map<string, ImageState>();

  /** Claims the image for an upload; the returned function releases it. */
  beginUpload(id: string): () => void {
    const state = this.state(id);
    if (state.deleting) throw new JobFailure('IMAGE_DELETING', `image ${id} is being deleted`);
    state.uploads++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.uploads--;
      if (state.uploads === 0) for (const resolve of state.idle.splice(0)) resolve();
      this.forget(id, state);
    };
  }

  /** Marks the image as being deleted and waits for its running uploads, up to timeoutMs. */
  async beginDelete(id: string, timeoutMs: number): Promise<() => void> {
    const state = this.state(id);
    if (state.deleting) throw new JobFailure('IMAGE_DELETING', `image ${id} is already being deleted`);
    state.deleting = true;
    const release = (): void => {
      state.deleting = false;
      this.forget(id, state);
    };
    if (state.uploads > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finished = await Promise.race([
        new Promise<boolean>((resolve) => state.idle.push(() => resolve(true))),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!finished) {
        release();
        throw new JobFailure('DELETE_TIMEOUT', `image ${id} still has ${state.uploads} upload(s) running after ${timeoutMs} ms`);
      }
    }
    return release;
  }

  isDeleting(id: string): boolean {
    return this.states.get(id)?.deleting ?? false;
  }

  private state(id: string): ImageState {
    let state = this.states.get(id);
    if (!state) {
      state = { uploads: 0, deleting: false, idle: [] };
      this.states.set(id, state);
    }
    return state;
  }

  private forget(id: string, state: ImageState): void {
    if (state.uploads === 0 && !state.deleting && state.idle.length === 0) this.states.delete(id);
  }
}
