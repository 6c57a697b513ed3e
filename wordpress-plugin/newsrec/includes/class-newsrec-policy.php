<?php
/**
 * What a change of a post means for the service: publish (PUT), unpublish (DELETE) or
 * nothing. Pure: plain arrays in, a word out (unit-tested without WordPress).
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Decides publish / unpublish / skip for saved and deleted posts.
 */
class Newsrec_Policy {

	const PUBLISH   = 'publish';
	const UNPUBLISH = 'unpublish';
	const SKIP      = 'skip';

	/**
	 * Whether readers may see the post in lists: published, public, no password.
	 *
	 * @param array $post       Post fields post_type, post_status, post_password.
	 * @param array $post_types Post types the site recommends.
	 * @return bool
	 */
	public static function is_public( array $post, array $post_types ) {
		return in_array( (string) ( $post['post_type'] ?? '' ), $post_types, true )
			&& 'publish' === ( $post['post_status'] ?? '' )
			&& '' === (string) ( $post['post_password'] ?? '' );
	}

	/**
	 * The decision for a post saved (wp_after_insert_post): its categories, tags and meta are
	 * saved by then, so the payload is complete.
	 *
	 * @param array      $post        The post as saved.
	 * @param array|null $before      The post before the save, null for a new post.
	 * @param array      $post_types  Post types the site recommends.
	 * @param bool       $is_autosave Whether the save is an autosave or a revision.
	 * @return string One of the class constants.
	 */
	public static function on_save( array $post, $before, array $post_types, $is_autosave ) {
		if ( $is_autosave || 'revision' === ( $post['post_type'] ?? '' ) ) {
			return self::SKIP;
		}
		if ( self::is_public( $post, $post_types ) ) {
			return self::PUBLISH;
		}
		// Leaving the public: trash, draft, pending, private, future, a password, another type.
		if ( is_array( $before ) && self::is_public( $before, $post_types ) ) {
			return self::UNPUBLISH;
		}
		return self::SKIP;
	}

	/**
	 * The decision for a post about to be deleted for good (a trashed post was unpublished when
	 * it went to the trash).
	 *
	 * @param array $post       The post being deleted.
	 * @param array $post_types Post types the site recommends.
	 * @return string One of the class constants.
	 */
	public static function on_delete( array $post, array $post_types ) {
		return self::is_public( $post, $post_types ) ? self::UNPUBLISH : self::SKIP;
	}
}
